"""Daily digests for managers and morning agendas for reps, pushed at each member's hour."""
