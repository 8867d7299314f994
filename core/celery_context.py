"""The log context of Celery tasks: django-structlog's worker integration, made safe for
tasks that run eagerly.

django-structlog carries the caller's context (trace id, user, partner) to the worker in
the task's headers and, when a task starts, replaces the thread's context with it. A task
run eagerly (`.apply()`, or `task_always_eager`) has no headers and runs in its caller's
thread: replacing the context there would lose the trace id inside the task and wipe the
caller's context afterwards. So an eager task keeps its caller's context, adds its own
task id, and gives the caller's context back when it ends.
"""

import structlog
from celery import bootsteps
from celery.signals import task_postrun
from django_structlog.celery.receivers import CeleryReceiver

_CALLER_CONTEXT = "_clearhouse_caller_log_context"


class TaskLogContextReceiver(CeleryReceiver):
    def receiver_task_prerun(self, task_id, task, *args, **kwargs):
        if task.request.is_eager:
            caller = structlog.contextvars.get_contextvars()
            setattr(task.request, _CALLER_CONTEXT, caller)
            # What a published task would have carried in its headers: the caller's context.
            task.request.__django_structlog__ = self.get_task_context()
        super().receiver_task_prerun(task_id, task, *args, **kwargs)

    def receiver_task_postrun(self, task_id=None, task=None, *args, **kwargs):
        caller = getattr(task.request, _CALLER_CONTEXT, None) if task is not None else None
        if caller is not None:
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(**caller)

    def connect_worker_signals(self) -> None:
        super().connect_worker_signals()
        task_postrun.connect(self.receiver_task_postrun)


class TaskLogContextStep(bootsteps.Step):
    """Worker boot step (in place of django-structlog's DjangoStructLogInitStep)."""

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.receiver = TaskLogContextReceiver()
        self.receiver.connect_worker_signals()
