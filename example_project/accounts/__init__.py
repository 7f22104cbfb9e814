"""Sign-up with a verified address, a profile page, and where "verified" is recorded."""
