"""Kubelet gRPC APIs (device plugin v1beta1, plugin registration v1, DRA v1): protos and generated stubs."""
