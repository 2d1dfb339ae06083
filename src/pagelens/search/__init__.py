"""Search: exact MaxSim scoring and the retriever (candidate generation, then exact rerank)."""
