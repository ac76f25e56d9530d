// The identity demo: a selfie and an ID photo (files or the webcam), with the face boxes,
// quality checks, liveness and the match drawn on the images.
import { useEffect, useRef, useState } from "react";
import { ApiError, post } from "../lib/api";
import { useI18n } from "../lib/i18n";

/* eslint-disable @typescript-eslint/no-explicit-any */
const MAX_SIDE = 640;

/** The image scaled down to at most 640 px a side, as a JPEG data URL (keeps uploads small). */
function shrink(src: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      const scale = Math.min(1, MAX_SIDE / Math.max(img.width, img.height));
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(img.width * scale);
      canvas.height = Math.round(img.height * scale);
      canvas.getContext("2d")!.drawImage(img, 0, 0, canvas.width, canvas.height);
      resolve(canvas.toDataURL("image/jpeg", 0.92));
    };
    img.onerror = reject;
    img.src = src;
  });
}

function Picture({ src, face, label, ok }: { src: string | null; face?: any; label: string; ok?: boolean }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!src || !ref.current) return;
    const img = new Image();
    img.onload = () => {
      const c = ref.current!;
      c.width = img.width;
      c.height = img.height;
      const g = c.getContext("2d")!;
      g.drawImage(img, 0, 0);
      if (face?.face?.box) {
        const [x, y, w, h] = face.face.box;
        g.lineWidth = 3;
        g.strokeStyle = ok ? "#2f9e44" : "#e03131";
        g.strokeRect(x, y, w, h);
        g.fillStyle = g.strokeStyle;
        g.font = "16px sans-serif";
        g.fillText(`${label} ${face.face.score}`, x, Math.max(16, y - 6));
      }
    };
    img.src = src;
  }, [src, face, label, ok]);
  return src ? <canvas ref={ref} className="picture" /> : <div className="picture empty">{label}</div>;
}

export function Identity() {
  const { t } = useI18n();
  const [selfie, setSelfie] = useState<string | null>(null);
  const [photo, setPhoto] = useState<string | null>(null);
  const [result, setResult] = useState<any>(null);
  const [error, setError] = useState<string | null>(null);
  const [camera, setCamera] = useState(false);
  const video = useRef<HTMLVideoElement>(null);
  const load = (set: (s: string) => void) => (f: File | undefined) => {
    if (!f) return;
    const reader = new FileReader();
    reader.onload = async () => set(await shrink(String(reader.result)));
    reader.readAsDataURL(f);
  };
  const startCamera = async () => {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: true });
      setCamera(true);
      setTimeout(() => {
        if (video.current) video.current.srcObject = stream;
      });
    } catch (e) {
      setError(String(e));
    }
  };
  const capture = async () => {
    const v = video.current;
    if (!v) return;
    const canvas = document.createElement("canvas");
    canvas.width = v.videoWidth;
    canvas.height = v.videoHeight;
    canvas.getContext("2d")!.drawImage(v, 0, 0);
    setSelfie(await shrink(canvas.toDataURL("image/jpeg")));
    (v.srcObject as MediaStream | null)?.getTracks().forEach((tr) => tr.stop());
    setCamera(false);
  };
  const verify = async () => {
    setError(null);
    try {
      setResult(await post("/identity/verify", { selfie, id_photo: photo }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  const checks = (q: any) =>
    Object.values(q?.checks || {}).map((c: any) => (
      <li key={c.name} className={c.passed ? "pass" : "fail"}>
        {c.passed ? "✓" : "✗"} {c.name}: {c.value} ({c.op} {c.threshold})
      </li>
    ));
  return (
    <section>
      <h2>{t("identity")}</h2>
      <div className="toolbar">
        <label>
          {t("selfie")} <input type="file" accept="image/*" onChange={(e) => load(setSelfie)(e.target.files?.[0])} data-testid="id-selfie" />
        </label>
        <button onClick={startCamera}>{t("useWebcam")}</button>
        <label>
          {t("idPhoto")} <input type="file" accept="image/*" onChange={(e) => load(setPhoto)(e.target.files?.[0])} data-testid="id-photo" />
        </label>
        <button className="primary" disabled={!selfie || !photo} onClick={verify} data-testid="id-verify">
          {t("verify")}
        </button>
      </div>
      {camera && (
        <div>
          <video ref={video} autoPlay playsInline className="picture" />
          <button onClick={capture}>{t("capture")}</button>
        </div>
      )}
      {error && <p className="error" data-testid="id-error">{error}</p>}
      <div className="row">
        <div className="half">
          <Picture src={selfie} face={result?.faces?.selfie} label={t("selfie")} ok={result?.match} />
          {result && <ul className="checks">{checks(result.quality?.selfie)}</ul>}
        </div>
        <div className="half">
          <Picture src={photo} face={result?.faces?.id_photo} label={t("idPhoto")} ok={result?.match} />
          {result && <ul className="checks">{checks(result.quality?.id_photo)}</ul>}
        </div>
      </div>
      {result && (
        <table className="list kv" data-testid="id-result">
          <tbody>
            <tr>
              <td>{t("decision")}</td>
              <td>
                <b>{result.decision}</b> {result.reasons?.join(", ")}
              </td>
            </tr>
            <tr>
              <td>{t("match")}</td>
              <td>
                {result.match ? t("yes") : t("no")} · {t("distance")} {result.distance} / {result.distance_threshold}
              </td>
            </tr>
            <tr>
              <td>{t("liveness")}</td>
              <td>{result.liveness ? `${result.liveness.live ? "live" : "spoof"} · ${result.liveness.score}` : "—"}</td>
            </tr>
          </tbody>
        </table>
      )}
    </section>
  );
}
