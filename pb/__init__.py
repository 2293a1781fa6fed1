"""pb: participatory budgeting and civic crowdfunding for towns."""

__version__ = "0.1.0"
