# jupyter_client's start_new_kernel, tried again (up to three times) when the
# kernel dies before it answers: jupyter_client picks free ports, closes them
# and hands them to the kernel in its connection file, and another process of
# the test run can take one in between (the kernel's log then says AddrInUse).
# Any other failure, or the third one, is raised as it is.
import time

from jupyter_client.manager import start_new_kernel


def start(**kwargs):
    for attempt in range(3):
        try:
            return start_new_kernel(**kwargs)
        except RuntimeError as e:
            if "died before replying" not in str(e) or attempt == 2:
                raise
            time.sleep(0.2)
