-- jaffle-shop's time spine: ten years of days. The original takes them from dbt_date.get_base_dates, ending today;
-- here they are a fixed range (DuckDB's range), so that both sides of the benchmark produce the same rows.
with

days as (

    select range as date_day
    from range(timestamp '2016-01-01', timestamp '2026-01-01', interval 1 day)

),

cast_to_date as (

    select cast(date_day as date) as date_day

    from days

)

select * from cast_to_date
