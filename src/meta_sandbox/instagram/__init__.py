"""Instagram API with Instagram Login (graph.instagram.com) and its OAuth endpoints."""
