"""The news-recommendation demo: synthetic click events and the feature groups built from them."""
