-- 0009 invoices (down): drops invoice_lines, then invoices.
DROP TABLE IF EXISTS invoice_lines;

DROP TABLE IF EXISTS invoices;
