"""The network's mathematics as pure functions: cells, loss, optimizer, sampling."""
