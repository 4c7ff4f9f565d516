"""Group QR uploads are drawn again as clean PNGs and served as images only (issue 18)."""

from __future__ import annotations

import base64
import io

import requests
from helpers import create_product, live_code, personal_group, tiny_png
from PIL import Image, PngImagePlugin

from backend.community.qr_images import MAX_SIDE

HTML = b"<html><script>alert(document.cookie)</script></html>"


def own_code(ops) -> dict:
    """A live code offered for a product of its own only (other tests' orders never see its groups)."""
    return live_code(ops, product_id=create_product(ops)["id"])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_with_text(mode: str = "L", size=(64, 64)) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<html>in a text chunk</html>")
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def served(live, group: dict) -> requests.Response:
    r = requests.get(live.url + group["qr_image_path"], timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    return r


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image


def test_a_png_with_html_appended_is_served_as_a_clean_png(live, ops):
    code = own_code(ops)
    upload = base64.b64decode(tiny_png())
    group = personal_group(ops, code["id"], qr_image=b64(upload + HTML))
    body = served(live, group).content
    assert b"<html" not in body.lower() and b"script" not in body.lower()
    assert decoded(body).size == Image.open(io.BytesIO(upload)).size

    # a replaced QR is cleaned the same way; text chunks (metadata) are dropped too
    r = ops.patch(f"/admin/community/groups/{group['id']}", json={"qr_image": b64(png_with_text() + HTML)})
    assert r.status_code == 200, r.text
    body = served(live, r.json()).content
    assert b"<html" not in body.lower() and b"Comment" not in body
    assert decoded(body).size == (64, 64) and decoded(body).text == {}


def test_a_jpeg_is_stored_and_served_as_png(live, ops):
    out = io.BytesIO()
    Image.new("CMYK", (40, 30), (0, 0, 0, 255)).save(out, format="JPEG")
    group = personal_group(ops, own_code(ops)["id"], qr_image=b64(out.getvalue() + HTML))
    body = served(live, group).content
    assert b"<html" not in body and decoded(body).size == (40, 30)


def test_what_pillow_cannot_decode_or_is_too_large_is_refused(live, ops):
    code = own_code(ops)
    png = base64.b64decode(tiny_png())
    before = len(ops.get("/admin/community/groups").json()["items"])
    too_wide = io.BytesIO()
    Image.new("1", (MAX_SIDE + 1, 1)).save(too_wide, format="PNG")
    for raw in (png[:8] + HTML,  # a PNG signature, then no image
                png[: len(png) // 2],  # cut short
                b"\xff\xd8\xff" + HTML,  # a JPEG signature, then no image
                too_wide.getvalue()):
        r = ops.post("/admin/community/groups", json={"live_code_id": code["id"], "kind": "personal",
                                                        "name": "bad", "qr_image": b64(raw)})
        assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_QR_IMAGE", r.text
    assert len(ops.get("/admin/community/groups").json()["items"]) == before  # nothing stored


def test_ids_and_counts_in_group_bodies_are_strict_integers(live, ops):
    code = own_code(ops)
    for bad in ({"product_id": "1"}, {"priority": 1.5}, {"low_water": True}):
        r = ops.post("/admin/community/live-codes", json={"name": "strict", **bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (bad, r.text)
    r = ops.post("/admin/community/groups", json={"live_code_id": str(code["id"]), "kind": "personal",
                                                    "name": "strict", "qr_image": tiny_png()})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
    group = personal_group(ops, code["id"])
    r = ops.patch(f"/admin/community/groups/{group['id']}", json={"capacity": 10.5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
