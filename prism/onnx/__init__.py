"""Built ONNX models: the registry (manifest joined with the build's lock) and their
runtime sessions. The lowest layer of inference: routing, the modalities and the engine
build on it; it builds on nothing of theirs."""
