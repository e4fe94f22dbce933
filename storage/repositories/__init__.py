"""SQLAlchemy implementations of the domain's repository ports. None of them commits."""
