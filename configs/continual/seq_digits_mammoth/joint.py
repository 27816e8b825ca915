# Mammoth protocol on split digits: joint training (upper bound), as Mammoth's `joint`
# (models/joint.py, first commit): nothing is trained during the tasks; after the last task a
# fresh network is trained on the data of all 5 tasks for n_epochs = 50, batch 32, with
# `sgd`'s best_args (lr 0.1; utils/main.py maps joint to sgd since commit 3bdda55). Here that
# is one task holding all 10 classes, trained from the initial weights for 50 epochs.
# Departure: the loop's accuracy is over the whole test split (450 images), Mammoth's the mean
# of the 5 tasks' accuracies; the tasks' test sets differ by at most 2 images (89-91), so the
# two agree to well under 0.1 points. A one-task run has no task-aware accuracy to report.
# (The zoo's `Joint` strategy, cumulative training at every task, is the split_digits one.)
_base_ = ["./sgd.py"]
train_cfg = dict(scenario=dict(_delete_=True, num_tasks=1, class_order=list(range(10))))
