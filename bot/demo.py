"""A small demo organisation for the sandbox: a team with its manager and reps, customers from
the source documents' templates, follow-ups and tasks (one due soon, one overdue)."""

from __future__ import annotations

from datetime import timedelta

from bot.runtime import Kehu
from crm.customers import Grade, NewContact, NewCustomer, Stage
from crm.followups import ContactMethod, NewFollowUp, NewTask
from crm.members import Member, NewMember, Role
from storage.uow import SqlUnitOfWork

DEMO_TEAM = "华东区"
EXTRA_REPS = ((20_001, "王强"), (20_002, "赵敏"))

# (name, contact, title, phone, industry, source, demand, stage, grade, tags) — seed 000, template 1
CUSTOMERS = (
    (
        "华信科技有限公司",
        "张伟",
        "采购经理",
        "13912345678",
        "制造业",
        "行业展会",
        "新采购",
        Stage.INTENT,
        Grade.A,
        ("价格敏感型",),
    ),
    (
        "远洋集团",
        "李静",
        "总监",
        "13790123456",
        "零售",
        "老客户转介绍",
        "系统升级",
        Stage.DEAL,
        Grade.A,
        ("高价值客户",),
    ),
    (
        "北京中联物流",
        "王磊",
        "运营总监",
        "13600001111",
        "物流",
        "线上推广",
        "技术咨询",
        Stage.POTENTIAL,
        Grade.B,
        ("技术偏好型",),
    ),
    (
        "深圳华新电子",
        "陈晨",
        "技术负责人",
        "13511112222",
        "科技",
        "电话营销",
        "新采购",
        Stage.POTENTIAL,
        Grade.C,
        (),
    ),
    (
        "Acme Trading Co.",
        "Jane Smith",
        "Purchasing",
        "+1 415 555 0100",
        "零售",
        "官网咨询",
        "售后服务",
        Stage.INTENT,
        Grade.B,
        ("price-sensitive",),
    ),
)


async def load_demo(kehu: Kehu, manager: tuple[int, str], rep: tuple[int, str]) -> str:
    """``manager`` and ``rep`` are (Telegram id, name) of the sandbox's people. Idempotent:
    running it twice adds nothing the second time."""
    people = [
        (*manager, Role.MANAGER),
        (*rep, Role.REP),
        *((user_id, name, Role.REP) for user_id, name in EXTRA_REPS),
    ]
    async with kehu.unit_of_work() as uow:
        team = await uow.teams.by_name(DEMO_TEAM) or await uow.teams.add(DEMO_TEAM)
        added: list[str] = []
        for telegram_id, name, role in people:
            if await uow.members.by_telegram_id(telegram_id) is None:
                await uow.members.add(
                    NewMember(
                        telegram_id=telegram_id,
                        name=name,
                        username=None,
                        role=role,
                        team_id=team.id,
                        language=kehu.settings.language,
                    )
                )
                added.append(f"{name} ({role})")
        if not added:
            return f"Demo data already loaded: team {DEMO_TEAM}."
        owner = await uow.members.by_telegram_id(rep[0])
        assert owner is not None
        await _customers(kehu, uow, owner)
        await uow.commit()
    return (
        f"Demo data loaded: team {DEMO_TEAM} with {', '.join(added)}; "
        f"{len(CUSTOMERS)} customers of {owner.name}, with follow-ups and tasks."
    )


async def _customers(kehu: Kehu, uow: SqlUnitOfWork, owner: Member) -> None:
    services = kehu.services(uow)
    now = kehu.clock.now()
    for number, row in enumerate(CUSTOMERS):
        name, contact, title, phone, industry, source, demand, stage, grade, tags = row
        customer = await services.customers.create(
            owner,
            NewCustomer(
                name=name,
                owner_id=owner.id,
                stage=stage,
                grade=grade,
                industry=industry,
                source=source,
                demand_type=demand,
                contact=NewContact(name=contact, title=title, phone=phone),
            ),
        )
        for tag in tags:
            await services.customers.add_tag(owner, customer.id, tag)
        if number < 3:
            happened = now - timedelta(days=3 + number)
            await uow.follow_ups.add(
                NewFollowUp(
                    customer_id=customer.id,
                    author_id=owner.id,
                    happened_at=happened,
                    method=ContactMethod.PHONE,
                    summary="介绍样品测试流程及报价",
                    feedback="对价格有疑虑，需对比竞品",
                    next_step="提供竞品分析报告",
                )
            )
            await uow.customers.touch_follow_up(customer.id, happened)
        if number < 2:  # one overdue, one later today
            due = now - timedelta(hours=3) if number == 0 else now + timedelta(hours=2)
            await uow.tasks.add(
                NewTask(
                    customer_id=customer.id,
                    assignee_id=owner.id,
                    created_by=owner.id,
                    due_at=due,
                    method=ContactMethod.VISIT,
                    talking_points="上门演示，协调技术部",
                )
            )
