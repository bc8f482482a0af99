"""Faults with Odoo running queue_job's job runner: a real Odoo server process, the KashFlow sandbox, a shop.

See ``harness.py`` for what runs, ``test_runner_faults.py`` for the scenarios ``make test`` runs, and
``test_runner_worker_kill.py`` for those of ``make test-faults``, which kill Odoo's workers in the middle of jobs.
"""
