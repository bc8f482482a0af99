"""A local look-alike of KashFlow's legacy SOAP API, for the demo, the tests and the benchmarks.

Run it with ``python3 -m kashflow_sandbox --port 8089``. It serves the operations of the connector's WSDL
(``kashflow_connector/kashflow/wsdl/kashflow.wsdl``) over real HTTP, applies KashFlow's business rules,
keeps its account in a SQLite file, and can inject faults (see :mod:`kashflow_sandbox.server`).
:mod:`kashflow_sandbox.testing` starts one as a subprocess for tests.
"""
