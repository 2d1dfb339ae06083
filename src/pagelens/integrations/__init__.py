"""pagelens where RAG pipelines and agents already are, each an optional extra imported on first use:

- `pagelens.integrations.mcp_server`: the `pagelens mcp` server (tools `search`, `get_page`, `list_documents`)
  on the official `mcp` SDK (`pip install 'pagelens[mcp]'`); its tools, SDK-free, in `mcp_tools`.
- `pagelens.integrations.langchain.PagelensRetriever`: a `langchain_core` retriever (`pagelens[langchain]`).
- `pagelens.integrations.llamaindex.PagelensRetriever`: a llama-index-core retriever (`pagelens[llamaindex]`).

The hit -> metadata / text / image conversions they share live in `pagelens.integrations.pages`.
Importing this package imports none of the optional packages.
"""
