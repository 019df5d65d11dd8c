-- Every table of the database is published, so workload tables created
-- later replicate too (after ALTER SUBSCRIPTION … REFRESH PUBLICATION).
CREATE PUBLICATION pgchaos_pub FOR ALL TABLES;
