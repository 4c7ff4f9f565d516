"""Monthly targets and their tiered bonuses (业绩目标 / 进货激励): plans, progress, the
period close that pays each bonus once through the ledger, its clawback, the PK boards."""
