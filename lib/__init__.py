"""Logic of the WhatsApp instance manager. Nothing here imports streamlit except lib.ui."""
