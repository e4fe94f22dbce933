"""Import of existing customers from .xlsx / .csv: header mapping, dry run, atomic commit."""
