-- How each restored object was checked when read back from the target:
-- content (every value equal), rows_present (a merge kept every backed-up
-- row), counts (rows and time spans only), not_checked, or differs; and
-- what the check said.
ALTER TABLE restore_objects ADD COLUMN check_result TEXT;
ALTER TABLE restore_objects ADD COLUMN check_detail TEXT;
