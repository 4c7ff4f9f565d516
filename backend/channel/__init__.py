"""Channel health (渠道淘汰): a nightly snapshot of every distributor's figures
(``health``), the dormant and at-risk lists (``service``), and the operators'
actions: warn, freeze, unfreeze, revoke, restore (``actions``)."""
