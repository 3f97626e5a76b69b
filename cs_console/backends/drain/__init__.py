"""The Supabase Log Drain receiver and its stores (the local ring, the team table)."""
