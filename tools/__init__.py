"""Project tooling: packaging, the local stack, contracts, the catalog."""
