"""The console's home on the server: the built bundle at /admin/, and the admin API
that belongs to no single domain (dashboard figures, admin accounts, the audit log)."""
