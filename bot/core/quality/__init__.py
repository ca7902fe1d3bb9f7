"""Quality gates beyond CI: test results, vulnerabilities and coverage read from the reports
the tools write (JUnit XML, SARIF 2.1.0, Cobertura XML), judged against the catalog's gates."""
