"""A consumer's read through the mesh: `read_product_relation`, a filtered count (as reference/duckdb_read.py does without it).

python bench/mesh_read.py mesh://bench/events "status = 'shipped'"
"""

import sys

from mesh_platform import read_product_relation

address, condition = sys.argv[1], sys.argv[2]
print(read_product_relation(address).filter(condition).aggregate("count(*)").fetchall()[0][0])
