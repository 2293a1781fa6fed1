"""The ASGI entry point for uvicorn (``pb serve``): settings from the environment."""

from pb.config import load_settings
from pb.web.app import create_app

app = create_app(load_settings())
