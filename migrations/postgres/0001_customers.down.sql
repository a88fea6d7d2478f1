-- 0001 customers (down): drops the customers table.
DROP TABLE IF EXISTS customers;
