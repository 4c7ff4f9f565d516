"""Fission analytics for operators: the tree's shape, the share funnel, K-factor, reflow, concentration."""
