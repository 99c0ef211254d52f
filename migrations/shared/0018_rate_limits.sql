-- A merchant's request budget on the platform API, set by the operator: the steady
-- rate per second and the burst. NULL is the sandbox's default (50 per second, bursts
-- of 100).
ALTER TABLE merchants ADD COLUMN rate_limit_per_second INTEGER;
ALTER TABLE merchants ADD COLUMN rate_limit_burst INTEGER;
