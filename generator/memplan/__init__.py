"""memplan: YAML memory profiles become static C++ layouts for embedded crypto."""

__version__ = "0.1.0"

# The profile schema this generator reads, and the budget JSON schema it writes
# (`memplan diff` also reads the schemas listed as readable).
PROFILE_SCHEMA = 1
BUDGET_SCHEMA = "memplan-budget/2"
# The runtime's MEMPLAN_LAYOUT_CONTRACT that generated headers are written for
# (runtime/include/memplan/memplan.hpp; docs/layout-abi.md).
LAYOUT_CONTRACT = 3
READABLE_BUDGET_SCHEMAS = ("memplan-budget/1", BUDGET_SCHEMA)
