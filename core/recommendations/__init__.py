"""Recommendations: savings computed from effective cost, prices and utilization, each with its
evidence and its formula; Advisor's items merged with ours; one item per real action."""
