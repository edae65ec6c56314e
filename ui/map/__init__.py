"""The map tab: folium pages served offline through the psp:// scheme, with the live boundary editor."""
