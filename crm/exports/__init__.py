"""Excel exports of what a member may see (customers, follow-ups, tasks, deals, survey answers)."""
