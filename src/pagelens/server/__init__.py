"""HTTP API and web page over one pagelens Index: `pagelens serve`.

`create_app(index, token=...)` (in `pagelens.server.app`) builds the FastAPI app; `serve(args)` (in
`pagelens.server.run`) opens the index, loads the model once, and runs uvicorn. Importing this package or
`pagelens.server.app` loads neither torch nor pymilvus: the index is built by the caller.
"""
