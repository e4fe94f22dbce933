"""Market-research surveys: forms authored as XLSForm workbooks, answered one question per
message, checked for validity, analysed, and written back onto customers as tags."""
