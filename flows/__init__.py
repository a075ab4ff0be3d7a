"""Prefect flows, one per stage of the national lifecycle; each task calls the service layer (the one door).

    submission-intake          flows/intake.py          validate and submit a batch of application files
    local-review               flows/local_review.py    a unit's returns, rejections and ranked forward
    provincial-recommendation  flows/provincial.py      the provincial round + 推荐汇总表 (.xlsx artifact)
    ministry-review            flows/ministry.py        open the review, record the expert panel outcome
    onsite-verification        flows/onsite.py          visit outcomes; excellent passes open the notice
    public-notice              flows/public_notice.py   open, objections, close → recognise (scheduled close)
    cultivation                flows/cultivation.py     start (schedules the 2-year expiry), checkpoints, expire
    acceptance                 flows/acceptance.py      request → preliminary review → expert acceptance
    reminder-sweep             flows/reminders.py       daily 08:00 Asia/Shanghai: reminders, then the outbox

Deployments: prefect.yaml; `factory-review serve` runs them on one machine (cli/serve.py).
"""
