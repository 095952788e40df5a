//! Tests of the kubeconfig planner.
