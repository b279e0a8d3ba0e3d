"""Models of the maintenance app (backups and operations come with their issues)."""
