"""Community: what users do with share links (share, visit, open, save, page views), recorded in batches."""
