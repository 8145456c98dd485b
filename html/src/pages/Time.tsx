export default function Time() {
  return <div className="page"><h1>Time</h1></div>;
}
