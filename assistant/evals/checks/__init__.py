"""The eval checks, one module per family: structure, coverage, numbers, copying, content (topicality,
foreign context, facts), language (提法, formula fit). ``evals.metrics`` runs them and keeps the scorecard."""
