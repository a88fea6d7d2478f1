-- 0007 agent_costs, credit_packages (down): drops credit_packages, then agent_costs.
DROP TABLE IF EXISTS credit_packages;

DROP TABLE IF EXISTS agent_costs;
