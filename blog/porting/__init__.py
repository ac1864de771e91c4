"""Moving data in and out: WordPress WXR import and export, backups, demo content, re-sanitizing."""
