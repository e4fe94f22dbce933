"""Reports on demand (/report): conversion, stage funnel, segments, lifetime value, top
lists, rep leaderboard."""
