"""Results made visible: DataFrames in the output column contracts (tables), the rich report on
stderr (terminal), the HTML report (html) and its figures (plots). Renders what it is given: it
reads no files and computes nothing beyond presentation; labelcli.io writes what it returns."""
