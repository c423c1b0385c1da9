{#-
  policy_execution_query: the package's monitoring operation (the usage guide's "Check State Table").

    dbt run-operation policy_execution_query --args '{"sql": "SELECT * FROM policy_execution_state ORDER BY start_time DESC LIMIT 1"}'

  runs `sql` and prints the result as a text table (column names, one line per row; a row too wide
  for the screen is printed vertically, one `column | value` line per column), long cells truncated
  to `max_width` characters, at most `max_rows` rows. Returns the agate table.

  It has a name of its own: a package macro named `run_query` would replace dbt's built-in
  `run_query` in every project that installs the package. A project that wants the guide's
  `dbt run-operation run_query` defines that macro itself (this project does, in project-macros/;
  docs/dbt-package.md shows the three lines).
-#}
{% macro policy_execution_query(sql, max_rows=50, max_width=60) %}
  {%- set table = dbt.run_query(sql) -%}
  {#- Called from another project's macro (policy_execution.policy_execution_query), this package's
      macros are reachable through the package's name only; run as an operation, by their own. -#}
  {%- set format = format_table if format_table is defined else policy_execution.format_table -%}
  {%- if execute -%}
    {%- do log(format(table, max_rows | int, max_width | int), info=True) -%}
  {%- endif -%}
  {{ return(table) }}
{% endmacro %}


{#- An agate table as text (see policy_execution_query). -#}
{% macro format_table(table, max_rows=50, max_width=60, screen_width=160) %}
  {%- set names = table.column_names | list -%}
  {%- set total = table.rows | length -%}
  {%- set rows = [] -%}
  {%- for row in table.rows[:max_rows] -%}
    {%- set cells = [] -%}
    {%- for value in row.values() -%}
      {%- set text = 'NULL' if value is none else (value | string | replace('\r', ' ') | replace('\n', ' ')) -%}
      {%- if text | length > max_width -%}
        {%- set text = text[:max_width - 3] ~ '...' -%}
      {%- endif -%}
      {%- do cells.append(text) -%}
    {%- endfor -%}
    {%- do rows.append(cells) -%}
  {%- endfor -%}

  {%- set widths = [] -%}
  {%- for name in names -%}
    {%- set column = loop.index0 -%}
    {%- set width = namespace(value=name | length) -%}
    {%- for cells in rows -%}
      {%- if cells[column] | length > width.value -%}
        {%- set width.value = cells[column] | length -%}
      {%- endif -%}
    {%- endfor -%}
    {%- do widths.append(width.value) -%}
  {%- endfor -%}

  {%- set lines = [] -%}
  {%- if (widths | sum) + 3 * ((names | length) - 1) <= screen_width -%}
    {%- set header = [] -%}
    {%- set rule = [] -%}
    {%- for name in names -%}
      {%- do header.append(name.ljust(widths[loop.index0])) -%}
      {%- do rule.append('-' * widths[loop.index0]) -%}
    {%- endfor -%}
    {%- do lines.append(header | join(' | ')) -%}
    {%- do lines.append(rule | join('-+-')) -%}
    {%- for cells in rows -%}
      {%- set padded = [] -%}
      {%- for cell in cells -%}
        {%- do padded.append(cell.ljust(widths[loop.index0])) -%}
      {%- endfor -%}
      {%- do lines.append(padded | join(' | ') | trim) -%}
    {%- endfor -%}
  {%- else -%}
    {%- set name_width = names | map('length') | max -%}
    {%- for cells in rows -%}
      {%- do lines.append('-[ row ' ~ loop.index ~ ' ]' ~ '-' * ([name_width - 6, 3] | max)) -%}
      {%- for cell in cells -%}
        {%- do lines.append(names[loop.index0].ljust(name_width) ~ ' | ' ~ cell) -%}
      {%- endfor -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if total > (rows | length) -%}
    {%- do lines.append('... ' ~ (total - (rows | length)) ~ ' more rows (max_rows=' ~ max_rows ~ ')') -%}
  {%- endif -%}
  {%- do lines.append('(' ~ total ~ ' row' ~ ('' if total == 1 else 's') ~ ')') -%}
  {{ return('\n' ~ (lines | join('\n'))) }}
{% endmacro %}
