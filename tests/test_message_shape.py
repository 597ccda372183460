"""One shape for everything the bot says: a push is a Reply, stored in the outbox in one
serialized form, and each platform renders it with the renderer of its answers."""

from __future__ import annotations

import base64

from bot.infra.message import Button, Reply
from bot.platforms import registered
from handlers.feishu.cards import buttons_of, text_of
from handlers.web.app import push_json, reply_json

PNG = b"\x89PNG\r\n\x1a\nchart"


def test_a_reply_survives_the_outbox_unchanged():
    reply = Reply(
        "今日进度", [[Button("催办", "nudge:1|ab"), Button("菜单", "menu|cd")]], image=PNG
    )
    content = reply.to_content()
    assert content == {
        "text": "今日进度",
        "buttons": [
            [{"label": "催办", "payload": "nudge:1|ab"}, {"label": "菜单", "payload": "menu|cd"}]
        ],
        "image": base64.b64encode(PNG).decode(),
    }
    back = Reply.from_content(content)
    assert back.text == reply.text
    assert back.buttons == reply.buttons
    assert back.image == PNG
    assert back.image_name == "chart.png"


def test_pushes_queued_in_the_earlier_form_still_read_and_malformed_parts_are_left_out():
    old = {
        "text": "hi",
        "buttons": [[{"label": "a", "payload": "p"}, {"label": "no payload"}], "not a row", []],
        "image": "***not base64***",
    }
    reply = Reply.from_content(old)
    assert reply.buttons == [[Button("a", "p")]]
    assert reply.image is None
    assert Reply.from_content({}).text == ""


def test_the_web_page_shows_a_push_exactly_as_the_same_answer():
    reply = Reply("结果已发布", [[Button("为什么？", "why:1|ef")]], image=PNG)
    shown = push_json(reply.to_content())
    assert shown == reply_json(Reply.from_content(reply.to_content()))
    assert shown["buttons"] == [[{"label": "为什么？", "payload": "why:1|ef"}]]
    assert shown["image"]["name"] == "chart.png"


def test_every_platform_renders_a_reply_with_its_one_renderer():
    reply = Reply("结果已发布", [[Button("为什么？", "why:1|ef")]])
    rendered = {p.name: p.render(reply) for p in registered()}
    assert text_of(rendered["feishu"]) == "结果已发布"
    assert buttons_of(rendered["feishu"]) == [("为什么？", "why:1|ef")]
    slack_blocks = rendered["slack"]
    assert slack_blocks[0]["text"]["text"] == "结果已发布"
    assert slack_blocks[1]["elements"][0]["value"] == "why:1|ef"
    (send,) = rendered["telegram"]
    assert send.text == "结果已发布"
    assert send.buttons == [[{"label": "为什么？", "payload": "why:1|ef"}]]
